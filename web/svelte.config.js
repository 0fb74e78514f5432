// Svelte compiler options (defaults are fine; this file keeps the plugin quiet).
export default {};
