from common.business_date import business_date_today


def business_date(request):
    return {"business_date": business_date_today}
