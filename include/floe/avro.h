/* floe/avro.h: (being written) */
#ifndef FLOE_AVRO_H
#define FLOE_AVRO_H
#endif
