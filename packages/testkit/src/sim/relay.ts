import { randomUUID } from 'node:crypto';
import { classifyFrame, ErrorCode } from '@tether/protocol';
import type { JsonRpcId, JsonRpcMessage, JsonRpcResponse } from '@tether/protocol';
import type { ProviderSession } from './session.js';

/** Where a robot's replies go: a WebSocket robot, or the simulator's own in-process caller. */
export interface RobotPort {
  readonly id: string;
  readonly token: string;
  deliver(message: JsonRpcMessage): void;
}

/**
 * The self-hosted relay's routing between robots and the provider of their token.
 *
 * A robot request `{id: 1}` reaches the provider as `{id: "<robot-uuid>_n_1"}` (`_s_` for string
 * ids) and the reply is restored to the robot's own id. A reply whose id is not such a string
 * (0, null, a number) cannot be routed and is dropped, as on the real relay. Calls in flight when
 * the provider drops get no error: the robot's own timeout ends them.
 */
export class RelayRouter {
  private readonly routes = new Map<string, { robot: RobotPort; id: JsonRpcId }>();

  constructor(private readonly providerFor: (token: string) => ProviderSession | undefined) {}

  newRobotId(): string {
    return randomUUID();
  }

  fromRobot(robot: RobotPort, data: string): void {
    const classified = classifyFrame(data);
    if (classified.kind === 'invalid' || classified.kind === 'response') return;
    const provider = this.providerFor(robot.token);
    const message = classified.message;
    if (classified.kind === 'notification') {
      provider?.send(message);
      return;
    }
    const request = classified.kind === 'request' ? classified.message : undefined;
    if (!request) return;
    if (!provider) {
      robot.deliver({
        jsonrpc: '2.0',
        id: request.id,
        error: { code: ErrorCode.NoProvider, message: 'no MCP provider connected' },
      });
      return;
    }
    const wireId = `${robot.id}_${typeof request.id === 'number' ? 'n' : 's'}_${request.id}`;
    this.routes.set(wireId, { robot, id: request.id });
    provider.send({ ...request, id: wireId });
  }

  fromProvider(response: JsonRpcResponse): void {
    if (typeof response.id !== 'string') return;
    const route = this.routes.get(response.id);
    if (!route) return;
    this.routes.delete(response.id);
    route.robot.deliver({ ...response, id: route.id });
  }

  forgetRobot(robot: RobotPort): void {
    for (const [wireId, route] of this.routes)
      if (route.robot === robot) this.routes.delete(wireId);
  }
}
