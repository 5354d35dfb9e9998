"use strict";
// Shows why the last sign-in failed (the server redirects here with ?error=...).
(function () {
  var err = new URLSearchParams(location.search).get("error");
  if (err) {
    var p = document.getElementById("login-error");
    p.textContent = "Sign-in refused: " + err;
    p.hidden = false;
  }
})();
