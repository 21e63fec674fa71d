// The inbox's live feed: new cases arrive over Server-Sent Events as rows rendered by the server
// (escaped there), inserted in deadline order; SLA timers are recounted every 30 seconds.
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  if (!table) { return; }
  var body = table.tBodies[0];
  var status = document.getElementById("live-status");

  function remaining(seconds) {
    var late = seconds < 0, s = Math.abs(Math.trunc(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    var text = d ? d + " д " + h + " ч" : (h ? h + " ч " + m + " мин" : m + " мин");
    return late ? "просрочено на " + text : "осталось " + text;
  }

  function tick() {
    var now = Date.now() / 1000;
    table.querySelectorAll(".timer[data-due]").forEach(function (el) {
      if (!el.dataset.due) { return; }
      var left = Number(el.dataset.due) - now;
      el.textContent = remaining(left);
      el.classList.toggle("late", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 86400);
    });
  }

  function due(row) {
    var t = row.querySelector(".timer");
    return t && t.dataset.due ? Number(t.dataset.due) : Infinity;
  }

  function insert(html) {
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.firstElementChild;
    var old = document.getElementById(row.id);
    if (old) { old.remove(); }
    var mine = due(row);
    var before = Array.prototype.find.call(body.rows, function (r) { return due(r) > mine; });
    body.insertBefore(row, before || null);
    var empty = document.getElementById("inbox-empty");
    if (empty) { empty.remove(); }
  }

  var feed = new EventSource(table.dataset.feed);
  feed.addEventListener("case", function (e) {
    var data = JSON.parse(e.data);
    insert(data.html);
    status.textContent = "Новое обращение № " + data.id;
  });
  feed.addEventListener("ended", function () {
    feed.close();
    status.textContent = "Сеанс закончился: обновите страницу и войдите снова.";
  });
  setInterval(tick, 30000);
})();
