/* floe/parquet_reader.h: (being written) */
#ifndef FLOE_PARQUET_READER_H
#define FLOE_PARQUET_READER_H
#endif
