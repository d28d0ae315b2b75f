/**
 * What a ticker symbol may look like: 1-20 of A-Z, 0-9 and `. - ^ =`.
 *
 * Covers equities (BRK.B), indices (^GSPC), currencies (EURUSD=X), futures (ES=F) and crypto (BTC-USD).
 * Anything else (spaces, slashes, quotes, semicolons) is rejected, so a symbol is always safe in a URL path,
 * a KV key and a log line. Its own module, free of zod, so the islands use the same pattern without the library.
 */
export const SYMBOL_PATTERN = /^[A-Z0-9^][A-Z0-9.\-^=]{0,19}$/;
