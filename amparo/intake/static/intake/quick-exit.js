// Progressive enhancement: the quick exit replaces this page in the history (the back button does
// not return here) and the Escape key leaves at once. Without JavaScript the link still works.
(function () {
  var link = document.getElementById("quick-exit");
  if (!link) { return; }
  function leave(event) {
    if (event) { event.preventDefault(); }
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { leave(event); }
  });
}());
