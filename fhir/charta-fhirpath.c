/* SPDX-License-Identifier: LGPL-2.1-or-later
 * charta-fhirpath.c: placeholder until its owner writes it. */
