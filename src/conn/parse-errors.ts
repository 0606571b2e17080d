// Maps request parse failures to the prebuilt responses of http/errors.ts.

import { parseErrorStatus, PARSE_ERR_UNSUPPORTED } from '../http/parser.ts'
import * as E from '../http/errors.ts'

export function mapParseError(code: number): number {
  if (code === PARSE_ERR_UNSUPPORTED) return E.RESP_NOT_SERVED
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
