// Keeps the relative times of the status page current; the page works
// without it (each time also carries its exact value in a tooltip).
(function () {
  "use strict";
  var rtf = window.Intl && Intl.RelativeTimeFormat ? new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }) : null;
  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];
  function relative(date) {
    var secs = (date.getTime() - Date.now()) / 1000;
    for (var i = 0; i < units.length; i++) {
      if (Math.abs(secs) >= units[i][1] || units[i][0] === "second") {
        var n = Math.round(secs / units[i][1]);
        if (units[i][0] === "second" && Math.abs(n) < 45) {
          return "just now";
        }
        return rtf ? rtf.format(n, units[i][0]) : null;
      }
    }
    return null;
  }
  function update() {
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute("datetime"));
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
