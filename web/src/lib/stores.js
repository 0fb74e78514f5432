import { writable } from 'svelte/store';

/** Number of API calls currently in flight (maintained by trackedFetch). */
export const pendingRequests = writable(0);
