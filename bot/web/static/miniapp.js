// Telegram Mini App sign-in: Telegram opens this page with its signed initData in the address's fragment
// (#tgWebAppData=…); post it to /web/tg, which checks the signature and signs the person in.
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.hash.slice(1));
  var data = params.get("tgWebAppData");
  var form = document.getElementById("tg-signin");
  if (!data || !form) {
    var missing = document.getElementById("tg-missing");
    if (missing) { missing.hidden = false; }
    return;
  }
  form.elements.namedItem("init_data").value = data;
  form.submit();
})();
