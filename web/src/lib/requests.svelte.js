/**
 * API calls in flight, kept balanced by trackedFetch (api.js) and read by the Spinner.
 * Module-level `$state` in a `.svelte.js` file, as Svelte 5 recommends for shared state:
 * any component that reads `requests.pending` updates when it changes. It is an object
 * because a module cannot export a `$state` variable it reassigns.
 */
export const requests = $state({ pending: 0 });
