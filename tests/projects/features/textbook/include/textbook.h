/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TEXTBOOK_H
#define TEXTBOOK_H

#define TEXTBOOK_NAME "from the sibling include directory"

int textbook_twice(int value);

#endif
