/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-store-sqlite.c: placeholder until its owner writes it. */
