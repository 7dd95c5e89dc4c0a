// Messages sent or received on a peer's sessions, by type (RFC 4271 §4).
import { MessageType } from '../wire/constants.js';

export class MessageCounters {
  open = 0;
  update = 0;
  notification = 0;
  keepalive = 0;
  routeRefresh = 0;

  get total(): number {
    return this.open + this.update + this.notification + this.keepalive + this.routeRefresh;
  }

  count(type: number, n = 1): void {
    switch (type) {
      case MessageType.OPEN:
        this.open += n;
        break;
      case MessageType.UPDATE:
        this.update += n;
        break;
      case MessageType.NOTIFICATION:
        this.notification += n;
        break;
      case MessageType.KEEPALIVE:
        this.keepalive += n;
        break;
      case MessageType.ROUTE_REFRESH:
        this.routeRefresh += n;
        break;
    }
  }
}
