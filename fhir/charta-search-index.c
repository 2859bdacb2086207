/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-search-index.c: placeholder until its owner writes it. */
