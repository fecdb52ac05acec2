// The console's only script (the Content-Security-Policy allows no inline one): asks before a
// form that changes something is sent, and reloads the overview now and then.
"use strict";

document.addEventListener("submit", (event) => {
  const question = event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const refreshing = document.querySelector("[data-refresh]");
  if (refreshing) {
    const seconds = Number(refreshing.getAttribute("data-refresh"));
    if (seconds > 0) {
      window.setTimeout(() => window.location.reload(), seconds * 1000);
    }
  }
});
