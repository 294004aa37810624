/*
 * replicate/config_compat.h: includes floe/config.h so that it can live in
 * one translation unit with floe/source.h, floe/iceberg.h and
 * floe/catalog.h.
 *
 * config.h declares enumerators whose names those headers also declare
 * (FLOE_SOURCE_SQLITE/POSTGRES/SNOWFLAKE, FLOE_TRANSFORM_IDENTITY..VOID,
 * FLOE_CATALOG_SQL/HADOOP), so a file including both does not compile. Here
 * config.h's copies are renamed while it is read; the engine then reads
 * config enums through their stable names (floe_config_*_name) and never
 * spells the clashing enumerators. Include this first, before any header
 * that includes config.h. When config.h renames its enumerators, the macros
 * below become no-ops and this file can go.
 */
#ifndef FLOE_REPLICATE_CONFIG_COMPAT_H
#define FLOE_REPLICATE_CONFIG_COMPAT_H

#if defined(FLOE_SOURCE_H) || defined(FLOE_ICEBERG_H) || defined(FLOE_CATALOG_H)
#error "include replicate/config_compat.h before floe/source.h, floe/iceberg.h, floe/catalog.h"
#endif

#define FLOE_SOURCE_SQLITE FLOE_CONFIG_COMPAT_SOURCE_SQLITE
#define FLOE_SOURCE_POSTGRES FLOE_CONFIG_COMPAT_SOURCE_POSTGRES
#define FLOE_SOURCE_SNOWFLAKE FLOE_CONFIG_COMPAT_SOURCE_SNOWFLAKE
#define FLOE_CATALOG_SQL FLOE_CONFIG_COMPAT_CATALOG_SQL
#define FLOE_CATALOG_HADOOP FLOE_CONFIG_COMPAT_CATALOG_HADOOP
#define FLOE_TRANSFORM_IDENTITY FLOE_CONFIG_COMPAT_TRANSFORM_IDENTITY
#define FLOE_TRANSFORM_BUCKET FLOE_CONFIG_COMPAT_TRANSFORM_BUCKET
#define FLOE_TRANSFORM_TRUNCATE FLOE_CONFIG_COMPAT_TRANSFORM_TRUNCATE
#define FLOE_TRANSFORM_YEAR FLOE_CONFIG_COMPAT_TRANSFORM_YEAR
#define FLOE_TRANSFORM_MONTH FLOE_CONFIG_COMPAT_TRANSFORM_MONTH
#define FLOE_TRANSFORM_DAY FLOE_CONFIG_COMPAT_TRANSFORM_DAY
#define FLOE_TRANSFORM_HOUR FLOE_CONFIG_COMPAT_TRANSFORM_HOUR
#define FLOE_TRANSFORM_VOID FLOE_CONFIG_COMPAT_TRANSFORM_VOID

#include "floe/config.h"

#undef FLOE_SOURCE_SQLITE
#undef FLOE_SOURCE_POSTGRES
#undef FLOE_SOURCE_SNOWFLAKE
#undef FLOE_CATALOG_SQL
#undef FLOE_CATALOG_HADOOP
#undef FLOE_TRANSFORM_IDENTITY
#undef FLOE_TRANSFORM_BUCKET
#undef FLOE_TRANSFORM_TRUNCATE
#undef FLOE_TRANSFORM_YEAR
#undef FLOE_TRANSFORM_MONTH
#undef FLOE_TRANSFORM_DAY
#undef FLOE_TRANSFORM_HOUR
#undef FLOE_TRANSFORM_VOID

#endif
