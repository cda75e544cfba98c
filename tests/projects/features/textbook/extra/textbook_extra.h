/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TEXTBOOK_EXTRA_H
#define TEXTBOOK_EXTRA_H

#define TEXTBOOK_EXTRA_VALUE 21

#endif
