/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-validate.c: placeholder until its owner writes it. */
