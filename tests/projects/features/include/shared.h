/* Shared between the producer and consumer modules (an INCLUDE_DIRECTORIES dir). */
#ifndef FEATURES_SHARED_H
#define FEATURES_SHARED_H
int producer_next(void);
#endif
