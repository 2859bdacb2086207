/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-demo.c: placeholder until its owner writes it. */
