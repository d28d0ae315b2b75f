/** The time zone of the exchanges Breadboard follows (US equities): sessions, trading days and the times shown. */
export const EXCHANGE_TZ = "America/New_York";
