// The admin area: find users, look one up and change what an admin may change (role, active,
// a new verification link, a forced password reset), and read the audit trail. Members are refused
// here before any request: the API would answer them 403 anyway.
import { LitElement, css, html, nothing } from "lit";
import { admin } from "../api.js";
import { StoreController, appStore } from "../store.js";
import { formStyles } from "../styles.js";

const PAGE_SIZE = 20;

// The backend's event kinds (KINDS in backend/app/core/audit.py; e2e/test_admin.py checks both
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
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const formatTime = (iso) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });

// "Previous / 21–40 of 55 / Next" under a paged table.
function pager({ label, offset, count, onStep }) {
  if (count <= PAGE_SIZE) return nothing;
  const last = Math.min(offset + PAGE_SIZE, count);
  return html`<nav class="pager" aria-label=${label}>
    <button class="secondary" ?disabled=${offset === 0} @click=${() => onStep(-1)}>
      Previous
    </button>
    <span>${offset + 1}–${last} of ${count}</span>
    <button class="secondary" ?disabled=${last >= count} @click=${() => onStep(1)}>Next</button>
  </nav>`;
}

export class AdminPage extends LitElement {
  static properties = {
    query: { state: true },
    users: { state: true },
    usersCount: { state: true },
    usersOffset: { state: true },
    usersError: { state: true },
    selected: { state: true },
    notice: { state: true },
    actionError: { state: true },
    busy: { state: true },
    auditFilter: { state: true },
    events: { state: true },
    eventsCount: { state: true },
    eventsOffset: { state: true },
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
        color: #6b7280;
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
      .actions,
      .pager {
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

  constructor() {
    super();
    this.query = "";
    this.users = [];
    this.usersCount = 0;
    this.usersOffset = 0;
    this.usersError = "";
    this.selected = null;
    this.notice = "";
    this.actionError = "";
    this.busy = false;
    this.auditFilter = { userId: "", email: "", kind: "" };
    this.events = [];
    this.eventsCount = 0;
    this.eventsOffset = 0;
    this.eventsError = "";
  }

  get #isAdmin() {
    return this.#store.state.user?.role === "admin";
  }

  connectedCallback() {
    super.connectedCallback();
    if (!this.#isAdmin) return;
    const me = this.#store.state.user;
    this.#emails.set(me.id, me.email);
    this.loadUsers();
    this.loadEvents();
  }

  #remember(users) {
    for (const user of users) this.#emails.set(user.id, user.email);
  }

  async loadUsers() {
    try {
      const page = await admin.users({ q: this.query, offset: this.usersOffset, limit: PAGE_SIZE });
      this.#remember(page.data);
      this.users = page.data;
      this.usersCount = page.count;
      this.usersError = "";
    } catch (error) {
      this.usersError = error.message;
    }
  }

  async loadEvents() {
    const { userId, kind } = this.auditFilter;
    try {
      const page = await admin.auditEvents({
        userId,
        kind,
        offset: this.eventsOffset,
        limit: PAGE_SIZE,
      });
      this.events = page.data;
      this.eventsCount = page.count;
      this.eventsError = "";
    } catch (error) {
      this.eventsError = error.message;
    }
  }

  #search(event) {
    event.preventDefault();
    this.query = new FormData(event.target).get("q").trim();
    this.usersOffset = 0;
    this.loadUsers();
  }

  #usersPage(step) {
    this.usersOffset = Math.max(0, this.usersOffset + step * PAGE_SIZE);
    this.loadUsers();
  }

  async #open(user) {
    this.notice = "";
    this.actionError = "";
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
    this.busy = true;
    this.notice = "";
    this.actionError = "";
    try {
      const answer = await action();
      this.notice = success ?? answer?.detail ?? "Done.";
      this.selected = await admin.user(this.selected.id);
      await Promise.all([this.loadUsers(), this.loadEvents()]);
    } catch (error) {
      this.actionError = error.message;
    } finally {
      this.busy = false;
    }
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
    this.eventsOffset = 0;
    this.loadEvents();
  }

  // The user filter takes an email (looked up) or a user id.
  async #filterEvents(event) {
    event.preventDefault();
    const data = new FormData(event.target);
    const who = data.get("user").trim();
    const kind = data.get("kind");
    let userId = "";
    if (UUID.test(who)) {
      userId = who;
    } else if (who) {
      try {
        const found = await admin.users({ q: who, limit: PAGE_SIZE });
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
    this.eventsOffset = 0;
    this.loadEvents();
  }

  #eventsPage(step) {
    this.eventsOffset = Math.max(0, this.eventsOffset + step * PAGE_SIZE);
    this.loadEvents();
  }

  #who(id) {
    if (!id) return html`<span class="muted">—</span>`;
    return this.#emails.get(id) ?? html`<span class="muted" title=${id}>${id.slice(0, 8)}…</span>`;
  }

  #usersSection() {
    const one = this.usersCount === 1;
    const found = this.query
      ? `${this.usersCount} ${one ? "user matches" : "users match"} “${this.query}”`
      : `${this.usersCount} ${one ? "user" : "users"}`;
    return html`<section aria-labelledby="users-heading">
      <h3 id="users-heading">Users</h3>
      <form class="filters" role="search" @submit=${this.#search}>
        <label>
          Search users
          <input name="q" type="search" .value=${this.query} placeholder="Email or name" />
        </label>
        <button type="submit">Search</button>
      </form>
      ${this.usersError ? html`<p class="form-error" role="alert">${this.usersError}</p>` : ""}
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
            ${this.users.map(
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
      ${pager({
        label: "Pages of users",
        offset: this.usersOffset,
        count: this.usersCount,
        onStep: (step) => this.#usersPage(step),
      })}
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
            ? html`<button ?disabled=${this.busy} @click=${() => this.#setRole("member")}>
                Make member
              </button>`
            : html`<button ?disabled=${this.busy} @click=${() => this.#setRole("admin")}>
                Make admin
              </button>`
        }
        ${
          user.is_active
            ? html`<button ?disabled=${this.busy} @click=${() => this.#setActive(false)}>
                Deactivate
              </button>`
            : html`<button ?disabled=${this.busy} @click=${() => this.#setActive(true)}>
                Reactivate
              </button>`
        }
        ${
          user.email_verified
            ? ""
            : html`<button ?disabled=${this.busy} @click=${this.#resendVerification}>
                Resend verification
              </button>`
        }
        <button ?disabled=${this.busy} @click=${this.#forcePasswordReset}>
          Force password reset
        </button>
        <button class="secondary" @click=${() => this.#showEventsOf(user)}>
          Show their audit events
        </button>
        <button class="secondary" @click=${() => (this.selected = null)}>Close</button>
      </div>
      <p class="notice" role="status">${this.notice}</p>
      ${this.actionError ? html`<p class="form-error" role="alert">${this.actionError}</p>` : ""}
    </section>`;
  }

  #auditSection() {
    const { email, kind } = this.auditFilter;
    const events = `${this.eventsCount} ${this.eventsCount === 1 ? "event" : "events"}`;
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
      ${this.eventsError ? html`<p class="form-error" role="alert">${this.eventsError}</p>` : ""}
      <p role="status" class="muted">${events}${email ? ` by or about ${email}` : ""}</p>
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
            ${this.events.map(
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
      ${pager({
        label: "Pages of audit events",
        offset: this.eventsOffset,
        count: this.eventsCount,
        onStep: (step) => this.#eventsPage(step),
      })}
    </section>`;
  }

  render() {
    if (!this.#isAdmin) {
      return html`<h2>Admin</h2>
        <p role="alert">You do not have access to this page.</p>
        <p><a href="/">Back to the app</a></p>`;
    }
    return html`<h2>Admin</h2>
      ${this.#usersSection()} ${this.#auditSection()}`;
  }
}

customElements.define("admin-page", AdminPage);
