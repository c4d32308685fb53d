// Writes how long ago each time of the status page is, in the page's
// language (not the browser's), and keeps it current; the page works
// without it (each time is written out in full). The server leaves it to
// this script so that a page is the same bytes until what it shows
// changes: it is compressed once per change, not every 30 s.
(function () {
  "use strict";
  var lang = document.documentElement.lang || "en";
  var now = document.body.getAttribute("data-now") || "";
  var rtf = null;
  try {
    rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  } catch (e) {
    rtf = null;
  }
  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  function relative(date) {
    var secs = (date.getTime() - Date.now()) / 1000;
    if (Math.abs(secs) < 45) {
      return now || null;
    }
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(secs) >= units[i][1]) {
        return rtf ? rtf.format(Math.round(secs / units[i][1]), units[i][0]) : null;
      }
    }
    return null;
  }
  function update() {
    var times = document.querySelectorAll(".ago[data-t]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("data-t"));
      if (!isNaN(d.getTime())) {
        var text = relative(d);
        if (text) {
          times[i].textContent = text;
        }
      }
    }
  }
  update();
  setInterval(update, 30000);
})();
