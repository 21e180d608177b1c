/**
 * Pages of scope listings this instance read lately. The stop tasks of one page usually travel together
 * (the expansion sends them in one call) and an invocation runs them one after another: the next task of
 * the same page stops from the read the last one made, while that read is young enough, instead of reading
 * the page again. The read keeps its own time: the run guard counts the age of a Stop's read from it.
 */
import type { RunPage } from './ports.ts';

export interface RecentRead {
  readonly page: RunPage;
  /** When the read was answered (the expansion context's clock). */
  readonly readAt: number;
}

export interface RecentPages {
  /** The read of `key` answered at most `maxAgeMs` before `now`, if there is one. */
  get(key: string, now: number, maxAgeMs: number): RecentRead | undefined;
  put(key: string, read: RecentRead): void;
}

/** Reads kept: a batch's tasks come from a page or two. */
const KEPT_READS = 4;

export const createRecentPages = (kept = KEPT_READS): RecentPages => {
  const reads = new Map<string, RecentRead>();
  return {
    get(key, now, maxAgeMs) {
      const read = reads.get(key);
      return read && now - read.readAt <= maxAgeMs ? read : undefined;
    },
    put(key, read) {
      reads.delete(key);
      reads.set(key, read);
      // The oldest first, in insertion order.
      for (const oldest of reads.keys()) {
        if (reads.size <= kept) break;
        reads.delete(oldest);
      }
    },
  };
};

/** The key of a page of a listing: what Glue was asked, and the page's token. */
export const pageKey = (query: {
  readonly CatalogId: string;
  readonly DatabaseName: string;
  readonly TableName?: string;
  readonly pageSize?: number;
  readonly pageToken?: string;
}): string =>
  JSON.stringify([
    query.CatalogId,
    query.DatabaseName,
    query.TableName ?? null,
    query.pageSize ?? null,
    query.pageToken ?? null,
  ]);
