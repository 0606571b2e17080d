// Maps request parse failures to the prebuilt responses of http/errors.ts.

import { parseErrorStatus } from '../http/parser.ts'
import * as E from '../http/errors.ts'

export function mapParseError(code: number): number {
  switch (parseErrorStatus(code)) {
    case 414:
      return E.RESP_URI_TOO_LONG
    case 431:
      return E.RESP_HEADERS_TOO_LARGE
    case 501:
      return E.RESP_NOT_IMPLEMENTED
    case 505:
      return E.RESP_VERSION_NOT_SUPPORTED
    default:
      return E.RESP_BAD_REQUEST
  }
}
