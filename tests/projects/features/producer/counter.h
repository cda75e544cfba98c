/* Included by counter.c only: touching it must rebuild counter.o, not main.o. */
#ifndef PRODUCER_COUNTER_H
#define PRODUCER_COUNTER_H
#define COUNTER_START 40
#endif
