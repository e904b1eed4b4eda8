// A tiny reactive store: one state object, replaced on every change, and a set of listeners.
export class Store {
  #state;
  #listeners = new Set();

  constructor(initial) {
    this.#state = Object.freeze({ ...initial });
  }

  get state() {
    return this.#state;
  }

  set(changes) {
    this.#state = Object.freeze({ ...this.#state, ...changes });
    for (const listener of this.#listeners) listener(this.#state);
  }

  subscribe(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

// A Lit reactive controller: the host element re-renders whenever the store changes.
export class StoreController {
  constructor(host, store) {
    this.host = host;
    this.store = store;
    host.addController(this);
  }

  get state() {
    return this.store.state;
  }

  hostConnected() {
    this.unsubscribe = this.store.subscribe(() => this.host.requestUpdate());
  }

  hostDisconnected() {
    this.unsubscribe?.();
  }
}

// The application's shared state: who is signed in and whether the network answers.
export const appStore = new Store({
  user: null,
  online: navigator.onLine,
  // False until the saved session (if any) has been restored, so pages do not flash "signed out".
  ready: false,
  // A message for the next page, after one that ended (the session ended, the account deleted).
  notice: "",
});

addEventListener("online", () => appStore.set({ online: true }));
addEventListener("offline", () => appStore.set({ online: false }));
