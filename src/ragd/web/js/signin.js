// Sign-in (shown when authentication is on and nobody is signed in).
import { login } from "./api.js";
import { signedIn } from "./app.js";
import { field, h } from "./dom.js";
import { t } from "./i18n.js";

export async function render(main) {
  const email = h("input", { type: "email", id: "signin-email", name: "username", autocomplete: "username", required: true });
  const password = h("input", { type: "password", id: "signin-password", name: "password", autocomplete: "current-password",
    required: true });
  const error = h("p", { class: "error", role: "alert", "data-testid": "signin-error" });
  const submit = h("button", { type: "submit", class: "primary", id: "signin-submit" }, t("signin.submit"));
  const form = h("form", { class: "signin card", "aria-labelledby": "signin-title", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    submit.disabled = true;
    try {
      await login(email.value.trim(), password.value);
      await signedIn();
    } catch (err) {
      error.textContent = err.code === "invalid_credentials" ? t("signin.invalid") : err.detail || err.message;
      password.select();
    } finally {
      submit.disabled = false;
    }
  } },
  h("h1", { id: "signin-title" }, t("signin.title")),
  h("p", { class: "muted" }, t("signin.intro")),
  field(t("signin.email"), email), field(t("signin.password"), password), error, submit);
  main.append(form);
  email.focus();
}
