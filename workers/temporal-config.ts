// Where Temporal is: the same environment variables the `temporal` CLI reads.
export const temporalAddress = () => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
export const temporalNamespace = () => process.env.TEMPORAL_NAMESPACE ?? 'default';
