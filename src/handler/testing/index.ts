// zgate/handler/testing: drive a handler in-process, with no gateway running.
export * from './fake-gateway.ts'
