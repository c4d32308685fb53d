// Keeps how long ago each time of the status page is current, in the
// page's language (not the browser's); the server writes them, so the
// page works without it and nothing moves when it loads (the first
// update is 30 s later).
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
  setInterval(update, 30000);
})();
