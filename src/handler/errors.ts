// Errors the handler library raises to applications. Each has a stable `code`; those that map
// to an HTTP answer carry the `status` the handler sends when the application lets them escape.

/** Base class: a failure with a stable code. */
export class HandlerError extends Error {
  override readonly name: string = 'HandlerError'
  constructor(
    readonly code: string,
    message: string,
    /** Status answered when this escapes application code before a response started. */
    readonly status = 500,
  ) {
    super(message)
  }
}

/** The request body exceeded the limit given to text()/json()/bytes() (answered 413). */
export class BodyTooLargeError extends HandlerError {
  override readonly name = 'BodyTooLargeError'
  constructor(limitBytes: number) {
    super('ZGH_BODY_TOO_LARGE', `request body larger than ${limitBytes} bytes`, 413)
  }
}

/** The session ended (cancel, disconnect, timeout, close) while the application still used it. */
export class SessionClosedError extends HandlerError {
  override readonly name = 'SessionClosedError'
  constructor(readonly reason: string) {
    super('ZGH_SESSION_CLOSED', `session closed: ${reason}`, 500)
  }
}

/** A call that the session's state does not allow (e.g. a second response). */
export class HandlerStateError extends HandlerError {
  override readonly name = 'HandlerStateError'
  constructor(message: string) {
    super('ZGH_STATE', message, 500)
  }
}
