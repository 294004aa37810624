/*
 * floe.h: the public API of libfloe. The `floe` command uses only this
 * header.
 */
#ifndef FLOE_H
#define FLOE_H

#include "floe/arrow.h"
#include "floe/avro.h"
#include "floe/buffer.h"
#include "floe/common.h"
#include "floe/log.h"
#include "floe/maintain.h"
#include "floe/parquet_reader.h"
#include "floe/parquet_writer.h"
#include "floe/replicate.h"
#include "floe/scan.h"
#include "floe/source.h"
#include "floe/table.h"
#include "floe/time.h"

#endif
