/* SPDX-License-Identifier: GPL-2.0 */
#ifndef COMPOSITE_H
#define COMPOSITE_H

#define COMPOSITE_FACTOR 3

int composite_value(int x);

#endif
