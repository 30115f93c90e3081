export type { Point, FieldValue, SeriesStore, SeriesQuery, SeriesBucket, LatestValues, RejectedLine, AggregateFn, AggregateQuery, AggregateRow, FieldCondition } from './series.ts';
export { StoreWriteError } from './series.ts';
export { InfluxStore } from './influx/store.ts';
export { InfluxHttp, quoteIdent, quoteString, type InfluxOptions } from './influx/http.ts';
export { LineProtocolError, toLine } from './influx/line-protocol.ts';
export { EmbeddedStore } from './embedded/store.ts';
export { Spool, type Chunk, type SpoolOptions } from './spool.ts';
export { SeriesWriter, type WriterEvents, type WriterOptions } from './writer.ts';
export { OperationalStore, type RejectRow, type UnregisteredRow } from './operational.ts';
