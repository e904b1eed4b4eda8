// The admin area: find users, look one up and change what an admin may change (role, active,
// a new verification link, a forced password reset), and read the audit trail. Only admins see it
// (src/routes.js): the API would answer members 403 anyway.
import { LitElement, css, html } from "lit";
import { admin } from "../api.js";
import { Attempt } from "../attempt.js";
import { PagedList } from "../paged-list.js";
import { StoreController, appStore } from "../store.js";
import { formStyles } from "../styles.js";
import "./page-nav.js";

// The backend's event kinds (KINDS in backend/app/audit/__init__.py; e2e/test_admin.py checks both
// name the same), as this page names them.
export const AUDIT_KINDS = {
  "auth.sign_in": "Signed in",
  "auth.sign_in_failed": "Sign-in failed",
  "auth.password_reset": "Password reset",
  "user.registered": "Registered",
  "user.registration_attempted": "Taken address registered",
  "user.password_changed": "Password changed",
  "user.email_changed": "Email changed",
  "user.signed_out_everywhere": "Signed out everywhere",
  "user.deleted": "Account deleted",
  "admin.role_changed": "Role changed",
  "admin.user_deactivated": "User deactivated",
  "admin.user_reactivated": "User reactivated",
  "admin.verification_resent": "Verification resent",
  "admin.password_reset_forced": "Password reset forced",
  "admin.first_admin": "First admin",
  "user.provider_linked": "Sign-in provider linked",
  "user.provider_unlinked": "Sign-in provider unlinked",
  "auth.provider_sign_in_refused": "Provider sign-in refused",
  "user.mfa_totp_enabled": "Authenticator app turned on",
  "user.mfa_totp_disabled": "Authenticator app turned off",
  "user.mfa_recovery_codes_renewed": "Recovery codes renewed",
  "auth.mfa_failed": "Wrong sign-in code",
  "auth.mfa_recovery_code_used": "Recovery code used",
  "admin.mfa_reset": "Two-step sign-in reset",
  "user.passkey_added": "Passkey added",
  "user.passkey_renamed": "Passkey renamed",
  "user.passkey_removed": "Passkey removed",
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const formatTime = (iso) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

export class AdminPage extends LitElement {
  static properties = {
    query: { state: true },
    selected: { state: true },
    notice: { state: true },
    auditFilter: { state: true },
    // A failure outside the lists' reads (opening a user, looking up a filter's email).
    usersError: { state: true },
    eventsError: { state: true },
  };

  static styles = [
    formStyles,
    css`
      section + section {
        margin-top: 2rem;
      }
      form.filters {
        grid-template-columns: 1fr auto;
        align-items: end;
      }
      form.filters.audit {
        grid-template-columns: 1fr 1fr auto;
      }
      select {
        font: inherit;
        font-weight: 400;
        padding: 0.5rem 0.6rem;
        border: 1px solid var(--border);
        border-radius: 6px;
        background: var(--surface);
        color: inherit;
      }
      /* Wide tables scroll inside their box, which keyboard users can focus. */
      .scroll {
        overflow-x: auto;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.95rem;
      }
      caption {
        text-align: left;
        font-weight: 600;
        padding-bottom: 0.25rem;
      }
      th,
      td {
        text-align: left;
        padding: 0.4rem 0.5rem;
        border-bottom: 1px solid var(--border);
        vertical-align: top;
      }
      .when {
        white-space: nowrap;
      }
      td button {
        padding: 0.25rem 0.6rem;
      }
      .muted {
        color: var(--muted);
        font-size: 0.85rem;
      }
      .details {
        border: 1px solid var(--border);
        border-radius: 8px;
        padding: 1rem;
        margin-top: 1rem;
      }
      .details h3 {
        margin-top: 0;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.25rem 1rem;
      }
      dt {
        font-weight: 600;
      }
      dd {
        margin: 0;
      }
      .actions {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem;
        margin-top: 0.75rem;
      }
      .notice {
        margin: 0.75rem 0 0;
      }
    `,
  ];

  #store = new StoreController(this, appStore);
  // id -> email of every user this page has seen, to name the people in audit events.
  #emails = new Map();
  #users = new PagedList(this, async (page) => {
    const found = await admin.users({ q: this.query, ...page });
    this.#remember(found.data);
    return found;
  });
  #events = new PagedList(this, (page) => {
    const { userId, kind } = this.auditFilter;
    return admin.auditEvents({ userId, kind, ...page });
  });
  #action = new Attempt(this);

  constructor() {
    super();
    this.query = "";
    this.selected = null;
    this.notice = "";
    this.auditFilter = { userId: "", email: "", kind: "" };
    this.usersError = "";
    this.eventsError = "";
  }

  connectedCallback() {
    const me = this.#store.state.user;
    if (me) this.#emails.set(me.id, me.email);
    super.connectedCallback();
  }

  #remember(users) {
    for (const user of users) this.#emails.set(user.id, user.email);
  }

  #search(event) {
    event.preventDefault();
    this.query = new FormData(event.target).get("q").trim();
    this.#users.load(0);
  }

  async #open(user) {
    this.notice = "";
    this.#action.clear();
    this.usersError = "";
    try {
      this.selected = await admin.user(user.id);
      this.#remember([this.selected]);
      await this.updateComplete;
      this.renderRoot.querySelector("#user-heading")?.focus();
    } catch (error) {
      this.usersError = error.message;
    }
  }

  // Runs one action on the selected user: its message (or the API's refusal, such as the 409 for
  // the last admin) is announced; the user, the table and the audit trail are read again.
  async #act(action, success) {
    this.notice = "";
    let answer = null;
    if (!(await this.#action.run(async () => (answer = await action())))) return;
    this.notice = success ?? answer?.detail ?? "Done.";
    try {
      this.selected = await admin.user(this.selected.id);
    } catch (error) {
      this.usersError = error.message;
    }
    await Promise.all([this.#users.load(), this.#events.load()]);
  }

  #setRole(role) {
    const { id, email } = this.selected;
    const now = role === "admin" ? "an admin" : "a member";
    this.#act(() => admin.updateUser(id, { role }), `${email} is now ${now}.`);
  }

  #setActive(isActive) {
    const { id, email } = this.selected;
    if (!isActive && !confirm(`Deactivate ${email}? They are signed out at once.`)) return;
    this.#act(
      () => admin.updateUser(id, { is_active: isActive }),
      `${email} is ${isActive ? "reactivated" : "deactivated"}.`,
    );
  }

  #resendVerification() {
    this.#act(() => admin.resendVerification(this.selected.id));
  }

  #forcePasswordReset() {
    const { id, email } = this.selected;
    if (!confirm(`Sign ${email} out everywhere and send them a reset link?`)) return;
    this.#act(() => admin.forcePasswordReset(id));
  }

  #showEventsOf(user) {
    this.auditFilter = { ...this.auditFilter, userId: user.id, email: user.email };
    this.eventsError = "";
    this.#events.load(0);
  }

  // The user filter takes an email (looked up) or a user id.
  async #filterEvents(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const who = data.get("user").trim();
    const kind = data.get("kind");
    this.eventsError = "";
    let userId = "";
    if (UUID.test(who)) {
      userId = who;
    } else if (who) {
      try {
        const found = await admin.users({ q: who, limit: this.#users.pageSize });
        this.#remember(found.data);
        const email = who.toLowerCase();
        userId = found.data.find((user) => user.email.toLowerCase() === email)?.id ?? "";
      } catch (error) {
        this.eventsError = error.message;
        return;
      }
      if (!userId) {
        this.eventsError = `No user has the email ${who}.`;
        return;
      }
    }
    this.auditFilter = { userId, email: who, kind };
    this.#events.load(0);
  }

  #who(id) {
    if (!id) return html`<span class="muted">—</span>`;
    return this.#emails.get(id) ?? html`<span class="muted" title=${id}>${id.slice(0, 8)}…</span>`;
  }

  #usersSection() {
    const users = this.#users;
    const one = users.count === 1;
    const found = this.query
      ? `${users.count} ${one ? "user matches" : "users match"} “${this.query}”`
      : `${users.count} ${one ? "user" : "users"}`;
    const error = users.error || this.usersError;
    return html`<section aria-labelledby="users-heading">
      <h3 id="users-heading">Users</h3>
      <form class="filters" role="search" @submit=${this.#search}>
        <label>
          Search users
          <input name="q" type="search" .value=${this.query} placeholder="Email or name" />
        </label>
        <button type="submit">Search</button>
      </form>
      ${error ? html`<p class="form-error" role="alert">${error}</p>` : ""}
      <p role="status" class="muted">${found}</p>
      <div class="scroll" tabindex="0" role="region" aria-label="Users table">
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col"><span class="muted">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            ${users.rows.map(
              (user) => html`<tr>
                <th scope="row">${user.email}</th>
                <td>${user.full_name ?? ""}</td>
                <td>${user.role}</td>
                <td>${user.is_active ? "Active" : "Deactivated"}</td>
                <td>
                  <button
                    class="secondary"
                    aria-label="Manage ${user.email}"
                    @click=${() => this.#open(user)}
                  >
                    Manage
                  </button>
                </td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <page-nav .list=${users} label="Pages of users"></page-nav>
      ${this.selected ? this.#details(this.selected) : ""}
    </section>`;
  }

  #details(user) {
    const isMe = user.id === this.#store.state.user?.id;
    return html`<section class="details" aria-labelledby="user-heading">
      <h3 id="user-heading" tabindex="-1">${user.email}${isMe ? " (you)" : ""}</h3>
      <dl>
        <dt>Name</dt>
        <dd>${user.full_name || "—"}</dd>
        <dt>Role</dt>
        <dd>${user.role}</dd>
        <dt>Status</dt>
        <dd>${user.is_active ? "Active" : "Deactivated"}</dd>
        <dt>Email verified</dt>
        <dd>${user.email_verified ? "Yes" : "No"}</dd>
        <dt>Registered</dt>
        <dd>${formatTime(user.created_at)}</dd>
        <dt>User id</dt>
        <dd><code>${user.id}</code></dd>
      </dl>
      <div class="actions">
        ${
          user.role === "admin"
            ? html`<button ?disabled=${this.#action.busy} @click=${() => this.#setRole("member")}>
                Make member
              </button>`
            : html`<button ?disabled=${this.#action.busy} @click=${() => this.#setRole("admin")}>
                Make admin
              </button>`
        }
        ${
          user.is_active
            ? html`<button ?disabled=${this.#action.busy} @click=${() => this.#setActive(false)}>
                Deactivate
              </button>`
            : html`<button ?disabled=${this.#action.busy} @click=${() => this.#setActive(true)}>
                Reactivate
              </button>`
        }
        ${
          user.email_verified
            ? ""
            : html`<button ?disabled=${this.#action.busy} @click=${this.#resendVerification}>
                Resend verification
              </button>`
        }
        <button ?disabled=${this.#action.busy} @click=${this.#forcePasswordReset}>
          Force password reset
        </button>
        <button class="secondary" @click=${() => this.#showEventsOf(user)}>
          Show their audit events
        </button>
        <button class="secondary" @click=${() => (this.selected = null)}>Close</button>
      </div>
      <p class="notice" role="status">${this.notice}</p>
      ${
        this.#action.error
          ? html`<p class="form-error" role="alert">${this.#action.error}</p>`
          : ""
      }
    </section>`;
  }

  #auditSection() {
    const { email, kind } = this.auditFilter;
    const events = this.#events;
    const counted = `${events.count} ${events.count === 1 ? "event" : "events"}`;
    const error = events.error || this.eventsError;
    return html`<section aria-labelledby="audit-heading">
      <h3 id="audit-heading">Audit trail</h3>
      <form class="filters audit" @submit=${this.#filterEvents}>
        <label>
          User
          <input name="user" type="search" .value=${email} placeholder="Email or user id" />
        </label>
        <label>
          Event
          <select name="kind">
            <option value="" ?selected=${!kind}>All events</option>
            ${Object.entries(AUDIT_KINDS).map(
              ([value, label]) =>
                html`<option value=${value} ?selected=${value === kind}>${label}</option>`,
            )}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      ${error ? html`<p class="form-error" role="alert">${error}</p>` : ""}
      <p role="status" class="muted">${counted}${email ? ` by or about ${email}` : ""}</p>
      <div class="scroll" tabindex="0" role="region" aria-label="Audit events table">
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Event</th>
              <th scope="col">By</th>
              <th scope="col">About</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            ${events.rows.map(
              (event) => html`<tr>
                <td class="when">${formatTime(event.at)}</td>
                <td>
                  ${AUDIT_KINDS[event.kind] ?? event.kind}
                  ${Object.keys(event.detail).length
                    ? html`<br /><span class="muted"
                          >${Object.entries(event.detail)
                            .map(([key, value]) => `${key}: ${value}`)
                            .join(", ")}</span
                        >`
                    : ""}
                </td>
                <td>${this.#who(event.actor_id)}</td>
                <td>${this.#who(event.target_user_id)}</td>
                <td>
                  ${event.ip ?? ""}
                  ${event.request_id
                    ? html`<br /><span class="muted" title="Request id">${event.request_id}</span>`
                    : ""}
                </td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>
      <page-nav .list=${events} label="Pages of audit events"></page-nav>
    </section>`;
  }

  render() {
    return html`<h2>Admin</h2>
      ${this.#usersSection()} ${this.#auditSection()}`;
  }
}

customElements.define("admin-page", AdminPage);
