// Runs before the first paint: apply the saved theme and language so the page does not flash.
(function () {
  try {
    var theme = localStorage.getItem("ragd.theme");
    if (theme === "dark" || theme === "light") document.documentElement.setAttribute("data-theme", theme);
    var lang = localStorage.getItem("ragd.lang");
    if (lang === "fr" || lang === "en") document.documentElement.lang = lang;
  } catch (e) { /* storage disabled: follow the system */ }
})();
