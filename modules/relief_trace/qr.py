# This file is part of relief-erp.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""QR code images of trace URIs, as PNG and SVG (qrcode, with pypng for
the PNG: no imaging library needed)."""
import io

import qrcode
import qrcode.image.pure
import qrcode.image.svg

BORDER = 4  # modules of quiet zone, as ISO/IEC 18004 asks


def _matrix(data):
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    return code


def png(data, scale=8):
    "Return the QR code of data as PNG bytes, scale pixels per module"
    code = _matrix(data)
    code.box_size = scale
    return _save(code.make_image(
            image_factory=qrcode.image.pure.PyPNGImage))


def svg(data):
    "Return the QR code of data as SVG bytes"
    return _save(_matrix(data).make_image(
            image_factory=qrcode.image.svg.SvgPathImage))


def _save(image):
    output = io.BytesIO()
    image.save(output)
    return output.getvalue()
