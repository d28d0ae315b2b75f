/** A real SMTP server (the smtp-server package) on a free port that keeps every message it accepts. */
import { SMTPServer } from "smtp-server";

/** One accepted message. */
export interface Mail {
  from: string;
  to: string[];
  /** The raw RFC 5322 message: headers, blank line, body. */
  raw: string;
  /** Header value by lower-case name (first occurrence, unfolded). */
  header(name: string): string | undefined;
}

/** The running sink. */
export interface SmtpSink {
  url: string;
  mails: Mail[];
  stop(): Promise<void>;
}

/** Starts the sink on 127.0.0.1 without TLS or authentication. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("end", () => {
        const raw = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
        const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, " ");
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          header(name) {
            const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
            return line?.slice(name.length + 1).trim();
          },
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
