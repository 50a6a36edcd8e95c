// The environment of a model container process, and the variables a model may not set.
// On AWS a container runs in its own sandbox, so its Environment can only change the
// container. Here it is a process on the developer's machine: a variable that changes how the
// host's loader, runtime or shell starts a program (NODE_OPTIONS=--import=..., LD_PRELOAD,
// PATH) would run code on the host. So CreateModel/CreateTransformJob refuse those names, the
// pool drops them from older state, and the process gets only the contract's variables, the
// model's, and the few host variables listed here, never the whole parent environment (which
// holds AWS credentials, codec keys and tokens that a model has no business reading).

/**
 * Names that steer a loader, runtime or shell rather than the model: Node (NODE_*, UV_*, the
 * tsx loader's TSX_*), the dynamic linker and libc (LD_*, DYLD_*, GCONV_PATH, GLIBC_TUNABLES,
 * MALLOC_*), search paths (PATH), shells (BASH_ENV, ENV, BASH_FUNC_*, SHELLOPTS, PS4, IFS),
 * other runtimes a tool might start (PYTHON*, PERL5*, RUBY*, JAVA_TOOL_OPTIONS, _JAVA_OPTIONS),
 * OpenSSL (OPENSSL_CONF, OPENSSL_ENGINES), and where the process keeps files (HOME, TMPDIR).
 * Case-insensitive, as Windows reads the environment.
 */
const HOST_RUNTIME_VARIABLE =
  /^(NODE_\w*|UV_\w*|TSX_\w*|LD_\w*|DYLD_\w*|GCONV_PATH|GLIBC_TUNABLES|MALLOC_\w*|PATH|PATHEXT|BASH_ENV|ENV|BASH_FUNC_\w*|SHELLOPTS|BASHOPTS|PS4|IFS|PYTHON\w*|PERL5\w*|PERLLIB|RUBY\w*|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|OPENSSL_CONF|OPENSSL_ENGINES|OPENSSL_MODULES|HOME|TMPDIR|TMP|TEMP)$/i;

export function isHostRuntimeVariable(name: string): boolean {
  return HOST_RUNTIME_VARIABLE.test(name);
}

/** Why `name` is refused in a model's or job's environment, in the words of the request field `path`. */
export function hostRuntimeVariableMessage(path: string, name: string): string {
  return `${path}: the environment variable ${name} is not allowed by the local cloud: it changes how the host starts the model process (loader, runtime, shell or search path variables such as NODE_OPTIONS, LD_PRELOAD or PATH are refused, because the container runs as a process on this machine, not in an isolated container).`;
}

/**
 * What a model process inherits from the local cloud's own environment: where it may write
 * (HOME, TMPDIR), how to find programs the runtime spawns (PATH, the host's, never the
 * model's), and the locale. Everything else comes from the container contract and the model.
 */
const INHERITED_HOST_VARIABLES = ['HOME', 'TMPDIR', 'PATH', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT'];

/**
 * The full environment of a model process: the inherited host variables above, then `env`
 * (contract variables, the model's Environment, the pool's own settings, in that order).
 */
export function containerProcessEnv(env: Record<string, string>, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const name of INHERITED_HOST_VARIABLES) {
    const value = parent[name];
    if (value !== undefined) inherited[name] = value;
  }
  return { ...inherited, ...env };
}
