// The Edit page's live validation (issue 15): on every change, post the form to <page>/check and show
// the findings, the text that will be stored and the room left. The project's own few lines; no library.
(function () {
  "use strict";
  var form = document.getElementById("params-form");
  if (!form) { return; }
  var texts = document.getElementById("texts").dataset;
  var timer = null;

  function setList(list, findings) {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    findings.forEach(function (f) {
      var li = document.createElement("li");
      li.className = f.severity;
      li.textContent = f.shown || f.message;  // text, never HTML: messages quote what the teacher typed
      list.appendChild(li);
    });
  }

  function show(result) {
    var all = document.getElementById("findings");
    setList(all, result.findings);
    if (!result.findings.length) {
      var none = document.createElement("li");
      none.className = "none";
      none.textContent = texts.none;
      all.appendChild(none);
    }
    document.querySelectorAll("ul.field-findings").forEach(function (list) {
      setList(list, result.findings.filter(function (f) { return f.field === list.dataset.field; }));
    });
    document.getElementById("preview").textContent = result.text;
    var length = document.getElementById("length");
    var over = result.left !== null && result.left < 0;
    length.textContent = result.column_size === null || result.size === null ? "" :
      (over ? texts.over : texts.length).replace("{size}", result.size).replace("{column}", result.column_size)
        .replace("{left}", result.left).replace("{over}", over ? -result.left : 0);
    length.className = over ? "problem" : "";
    form.dataset.ok = result.ok ? "1" : "0";
    form.dataset.checked = String(Number(form.dataset.checked || "0") + 1);
  }

  function check() {
    fetch(form.dataset.check, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (result) { if (result) { show(result); } })
      .catch(function () { /* the server's check on save still applies */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(check, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);

  document.getElementById("add-row").addEventListener("click", function () {
    var rows = form.querySelectorAll("tr.volume");
    var last = rows[rows.length - 1];
    var index = Number(last.dataset.index) + 1;
    var copy = last.cloneNode(true);
    copy.dataset.index = String(index);
    copy.querySelectorAll("[name]").forEach(function (input) {
      input.name = input.name.replace(/^vol-\d+-/, "vol-" + index + "-");
      if (input.tagName !== "SELECT") { input.value = ""; }
    });
    copy.querySelectorAll("ul.field-findings").forEach(function (list) {
      list.dataset.field = list.dataset.field.replace(/^vol-\d+-/, "vol-" + index + "-");
      while (list.firstChild) { list.removeChild(list.firstChild); }
    });
    last.parentNode.appendChild(copy);
  });
})();
