// A request a component makes on the user's behalf: busy while it runs (buttons disabled), then
// the API's messages if it failed. The component re-renders at both ends.
export class Attempt {
  constructor(host) {
    this.host = host;
    host.addController(this);
    this.busy = false;
    // The message for the request as a whole, and per field (a 422's details).
    this.error = "";
    this.fieldErrors = {};
    // The HTTP status of the failure (0 offline), for pages that offer a way on.
    this.status = null;
    // The API's machine-readable reason, when it gave one (src/errors.js words each).
    this.code = null;
  }

  // Runs `work`; `toFields` names the field each of the API's messages belongs to. Resolves to
  // whether the work succeeded.
  async run(work, toFields = (fieldErrors) => fieldErrors) {
    this.busy = true;
    this.clear();
    try {
      await work();
      return true;
    } catch (error) {
      this.error = error.message;
      this.status = error.status ?? null;
      this.code = error.code ?? null;
      this.fieldErrors = toFields(error.fieldErrors ?? {});
      return false;
    } finally {
      this.busy = false;
      this.host.requestUpdate();
    }
  }

  clear() {
    this.error = "";
    this.fieldErrors = {};
    this.status = null;
    this.code = null;
    this.host.requestUpdate();
  }

  // What a form shows: its fields' messages and the whole request's under `form`.
  get errors() {
    return this.error ? { form: this.error, ...this.fieldErrors } : {};
  }
}
