// Where Temporal is, for workers and clients alike: the same environment variables the
// `temporal` CLI reads. Read at each call, so a process that sets them before connecting wins.
export const temporalAddress = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const temporalNamespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';
