/*
 * source/postgres: the PostgreSQL driver (libpq). Being written: until it
 * lands, opening a postgres source reports that the driver is not built in.
 */
#include "source/source_internal.h"

int floe_src_postgres_open(floe_source **out, const floe_source_config *config,
                           floe_error *err) {
  (void)config;
  *out = NULL;
  return floe_error_set(err, FLOE_EUNSUPPORTED,
                        "source postgres: driver not built in yet");
}
