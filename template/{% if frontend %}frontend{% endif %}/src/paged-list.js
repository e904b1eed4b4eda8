// One page of a list the API pages with offset and limit ({data, count}): its rows, the total and
// the error of the last read. The host re-renders when a page arrives; <page-nav> steps through.
export class PagedList {
  #reads = 0;

  // `readPage({offset, limit})` asks the API for one page.
  constructor(host, readPage, { pageSize = 20 } = {}) {
    this.host = host;
    this.readPage = readPage;
    this.pageSize = pageSize;
    this.rows = [];
    this.count = 0;
    this.offset = 0;
    this.error = "";
    host.addController(this);
  }

  hostConnected() {
    this.load();
  }

  // Reads the page at `offset` (the current one again by default). Only the last read counts, so
  // a slow answer never replaces a newer one.
  async load(offset = this.offset) {
    const read = ++this.#reads;
    try {
      const page = await this.readPage({ offset, limit: this.pageSize });
      if (read !== this.#reads) return;
      // The last rows of the last page are gone (deleted): show the page that is now the last.
      if (!page.data.length && offset > 0 && page.count > 0) {
        return this.load(Math.floor((page.count - 1) / this.pageSize) * this.pageSize);
      }
      this.rows = page.data;
      this.count = page.count;
      this.offset = offset;
      this.error = "";
    } catch (error) {
      if (read !== this.#reads) return;
      this.error = error.message;
    }
    this.host.requestUpdate();
  }
}
