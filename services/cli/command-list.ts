// The operator client's commands with their one-line summaries. Free of
// imports so the binary can list them without loading the client.
export const CLIENT_COMMANDS: Record<string, string> = {
  get: 'list resources or show one: get nodes|links|vpns|sites|vrfs [ID] [-o table|wide|json|yaml]',
  describe: 'a resource in detail with its status (a VRF with its routes, a node with its state)',
  create: 'create resources: create KIND -f FILE|-, or create site ID --vpn V --node N ...',
  apply: 'create or replace the resources of a file (If-Match on the current version)',
  delete: 'delete a resource: delete KIND ID, or the resources of a file: delete -f FILE',
  plan: 'dry run of create|apply|delete: what would change, per affected node; changes nothing',
  routes: "a VRF's route table: routes VPN:NODE",
  state: "a node's desired state and what its agent reports installed: state NODE",
  wait: 'wait for a status: wait KIND ID [--for active|failed|deleted] [--timeout 60s]',
  'join-token': "a one-time join token for a node's agent to enrol with, shown once: join-token NODE [--ttl 1h]",
  'revoke-agent': "revoke every credential and join token of a node's agent at once: revoke-agent NODE",
  revert: "put a non-revertive site's traffic back on its primary access (once that is up): revert SITE",
  help: 'the client commands, their options and where the server and token come from',
};
