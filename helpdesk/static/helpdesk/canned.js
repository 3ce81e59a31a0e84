// Insert a reply template into the reply box where the agent's cursor is, keeping what they typed. The
// texts come from the JSON the page carries (no inline script: a strict CSP can stay on). Without this
// script the insert button posts the form, and the page comes back with the template after the text.
(function () {
  "use strict";

  // Templates are whole paragraphs: keep a blank line between them and typed text.
  function insertAt(box, text, atEnd) {
    var value = box.value;
    var start = atEnd ? value.length : box.selectionStart;
    var end = atEnd ? value.length : box.selectionEnd;
    var before = value.slice(0, start);
    var after = value.slice(end);
    if (before.trim() && !/\n\n$/.test(before)) {
      before = before.replace(/\n?$/, "\n\n");
    }
    if (after.trim() && !/^\n/.test(after)) {
      text += "\n";
    }
    box.value = before + text + after;
    var caret = before.length + text.length;
    box.focus();
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function offer(select, replies) {
    var chosen = select.value;
    while (select.options.length > 1) {
      select.remove(1);
    }
    replies.forEach(function (reply) {
      select.add(new Option(reply.title, reply.key, false, reply.key === chosen));
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("hd-canned-replies");
    var form = document.getElementById("reply-form");
    if (!source || !form) {
      return;
    }
    var texts = JSON.parse(source.textContent);
    var select = form.querySelector("#id_canned");
    var language = form.querySelector("#id_canned_language");
    var button = form.querySelector("#canned-insert");
    var box = form.querySelector("textarea[name=text]");
    // Until the agent clicks into the box, its cursor sits at the start: add after the text instead.
    var placed = false;
    box.addEventListener("focus", function () {
      placed = true;
    });
    language.addEventListener("change", function () {
      offer(select, texts[language.value] || []);
    });
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var replies = texts[language.value] || [];
      var reply = replies.find(function (r) {
        return r.key === select.value;
      });
      if (reply) {
        insertAt(box, reply.text, !placed);
      }
    });
  });
})();
