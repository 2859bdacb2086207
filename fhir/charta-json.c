/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-json.c: placeholder until its owner writes it. */
