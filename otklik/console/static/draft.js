// Live quality hints while a draft is typed: the server's quality check (the same one the approver
// sees) of the current text, asked at most every 400 ms of typing pause.
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  if (!form) { return; }
  var text = document.getElementById("d-text");
  var kind = document.getElementById("d-kind");
  var list = document.getElementById("d-hints");
  var token = document.querySelector('meta[name="csrf-token"]').content;
  var timer = null, asked = 0;

  function show(hints) {
    list.textContent = "";
    if (!hints.length) {
      var ok = document.createElement("li");
      ok.textContent = "Замечаний нет.";
      list.appendChild(ok);
      return;
    }
    hints.forEach(function (h) {
      var li = document.createElement("li");
      li.className = h.severity;
      li.textContent = h.message;
      list.appendChild(li);
    });
  }

  function check() {
    var mine = ++asked;
    fetch(form.dataset.quality, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
      body: JSON.stringify({text: text.value, kind: kind.value})
    }).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data && mine === asked) { show(data.hints); } })
      .catch(function () { /* hints are a help, not a gate: the server checks again on submit */ });
  }

  function later() { clearTimeout(timer); timer = setTimeout(check, 400); }
  text.addEventListener("input", later);
  kind.addEventListener("change", check);
})();
